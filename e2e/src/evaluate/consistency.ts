/**
 * `pnpm evaluate consistency --seed N [--steps K]` (Materialize's feature-flag-consistency): a
 * seeded random workload sent to two clusters of one environmentd — the baseline with every phase
 * off, the candidate with every built phase on (`sidesOf("all")`, the flags file of
 * `flags-file.ts`) — where every answer must be the same.
 *
 * Data: a deterministic AUCTION source on `eval_src`, seeded with N (ticks from `START`, closed
 * at `END`), so every answer at `T` is a pure function of the seed. Each side starts with an
 * index on the bids. Then `steps` steps, the kind drawn by `Rng(N)`, the request by fast-check
 * from a seed derived from N and the step (`fuzz/requests.ts`, shared with the API fuzzer):
 * - `peek`: a live index or view at `T`, plain or with random literal constraints,
 *   map/filter/project and finishing, on both sides: the same rows, or the same error code;
 * - `view`: a random plan over the auction's subsources as a materialized view on both sides,
 *   then an index with a random key: created alike or refused alike (same code);
 * - `source`: a deterministic auction source of its own on each side (seeded with N + step), its
 *   bids indexed (storage under the phase; a later `drop` drops the source);
 * - `index`: an index with a random key on the bids or a live view, on both sides;
 * - `subscribe`: a live view from `T` to its end, on both sides: the same stream (`diffStreams`);
 * - `drop`: a live object (cascade) on both sides;
 * - `replica`: a second replica `r2` added to both clusters, or dropped again;
 * - `kill`: kill -9 of every replica of both clusters; both must answer again.
 * Before the first step each side's replicas must run the side's phases (`applied.ts`) and its
 * controller seams the side's paths (`controllers.ts`: the candidate's replica tasks unified).
 * Problems: every difference (as a diff) and every step that could not run.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import type { Phase } from "@mzts/flags";
import { environmentCodecs as codecs } from "@mzts/protocol";
import fc from "fast-check";
import { peekRequest, viewDefinition } from "../fuzz/requests.js";
import { deterministicAuction, T } from "../harness/auction-workload.js";
import { type EnvironmentApi, type Rows, sleep, waitFor } from "../harness/environment.js";
import { Rng } from "../harness/rng.js";
import { phasesApplied } from "./applied.js";
import {
  type Difference,
  diffOutcomes,
  diffStreams,
  emptyStream,
  formatDifference,
  type Outcome,
  type Stream,
} from "./compare.js";
import { evaluationContext, SIDES, type Side, sideName } from "./context.js";
import { diffControllerPaths } from "./controllers.js";
import { sidesOf } from "./phases.js";
import { openSidesSession, type Session } from "./session.js";
import { CLUSTER_NAME, createClusters, SOURCE_CLUSTER, sideInfos } from "./workload.js";

export const STEP_KINDS = [
  "peek",
  "view",
  "source",
  "index",
  "subscribe",
  "drop",
  "replica",
  "kill",
] as const;
export type StepKind = (typeof STEP_KINDS)[number];
const WEIGHTS: ReadonlyArray<readonly [StepKind, number]> = [
  ["peek", 10],
  ["view", 4],
  ["source", 1],
  ["index", 2],
  ["subscribe", 2],
  ["drop", 1],
  ["replica", 1],
  ["kill", 1],
];

export interface ConsistencyOptions {
  readonly seed: number;
  readonly steps: number;
  /** Progress lines (default stderr). */
  readonly log?: (line: string) => void;
}

export interface ConsistencyResult {
  readonly seed: number;
  /** The phases each side ran (`sidesOf("all")`). */
  readonly phases: { readonly baseline: readonly Phase[]; readonly candidate: readonly Phase[] };
  /** Steps run per kind. */
  readonly ran: Readonly<Record<StepKind, number>>;
  /** Comparisons made (each compares both sides once). */
  readonly compared: number;
  /** Rows (peeks) and updates (subscribes) compared where both sides answered. */
  readonly rowsCompared: number;
  readonly refusedAlike: number;
  readonly differences: readonly Difference[];
  /** Differences and steps that could not run, as text; empty = consistent. */
  readonly problems: readonly string[];
  readonly summary: readonly string[];
}

/** A live object of both sides, by neutral name. */
interface Live {
  readonly neutral: string;
  readonly kind: "index" | "view";
  readonly arity: number;
  /** Width of the index key (a view: its index's). */
  readonly keyWidth: number;
  /** What a drop of it drops (an index on a step's own source: the source), default itself. */
  readonly drops?: string;
}

/** `f`'s outcome: the rows it answered (none for DDL), or its error code. */
async function outcome(f: () => Promise<unknown>): Promise<Outcome> {
  try {
    const r = await f();
    const rows = typeof r === "object" && r !== null && "rows" in r ? (r.rows as Rows) : [];
    return { ok: true, rows };
  } catch (e) {
    return e instanceof ConnectError
      ? { ok: false, code: Code[e.code], message: e.rawMessage }
      : { ok: false, code: "not a ConnectError", message: String(e) };
  }
}

/** A subscribe from `T` until it completes (or 30 s). */
async function subscribeOutcome(api: EnvironmentApi, object: string): Promise<Stream> {
  const s = emptyStream();
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), 30_000);
  try {
    for await (const b of api.subscribe({ object, asOf: T }, abort.signal)) {
      s.updates.push(...b.updates);
      s.uppers.push(b.upper);
      if (b.upper === null) break;
    }
  } catch (e) {
    s.error = abort.signal.aborted
      ? "no end within 30 s"
      : e instanceof ConnectError
        ? `${Code[e.code]}`
        : String(e);
  } finally {
    clearTimeout(timer);
  }
  return s;
}

export async function runConsistency(opts: ConsistencyOptions): Promise<ConsistencyResult> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const say = (l: string) => log(`consistency (seed ${opts.seed}): ${l}`);
  const sides = sidesOf("all");
  const ran = Object.fromEntries(STEP_KINDS.map((k) => [k, 0])) as Record<StepKind, number>;
  const differences: Difference[] = [];
  const problems: string[] = [];
  let compared = 0;
  /** Comparisons where both sides refused with the same code; rows compared when both answered. */
  let refusedAlike = 0;
  let rowsCompared = 0;
  let session: Session | undefined;
  const rng = new Rng(opts.seed);
  const sample = <A>(arb: fc.Arbitrary<A>, step: number): A =>
    fc.sample(arb, { seed: (opts.seed * 7919 + step) | 0, numRuns: 1 })[0] as A;
  try {
    session = await openSidesSession(sides);
    const api = session.api;
    const ids = await createClusters(api, say);
    const ctx = evaluationContext(
      session,
      sideInfos(ids, { baseline: sides.baseline, candidate: sides.candidate }),
    );
    const auction = await api.createSource({
      name: "auction",
      cluster: SOURCE_CLUSTER,
      loadGenerator: deterministicAuction(BigInt(opts.seed)),
    });
    const { objects } = await api.listObjects();
    const inputs = objects
      .filter((o) => o.kind === "subsource" && auction.subsources.some((s) => s.id === o.id))
      .map((o) => [o.id, o.arity] as const);
    const bidsArity = objects.find((o) => o.name === "auction_bids")?.arity ?? 5;
    const live: Live[] = [];
    /** Runs `f` on both sides and compares the outcomes. */
    const both = async (subject: string, f: (side: Side) => Promise<unknown>): Promise<boolean> => {
      const got = {} as Record<Side, Outcome>;
      for (const side of SIDES) got[side] = await outcome(() => f(side));
      compared++;
      if (!got.baseline.ok && !got.candidate.ok) refusedAlike++;
      if (got.baseline.ok && got.candidate.ok) rowsCompared += got.baseline.rows.length;
      const d = diffOutcomes(subject, got.baseline, got.candidate);
      if (d !== undefined) differences.push({ ...d, check: `consistency ${d.check}` });
      return got.baseline.ok && got.candidate.ok;
    };
    /** Both sides answer a peek of every live index at T (after a kill or a replica change). */
    const answering = async (what: string) => {
      const probe = live.find((l) => l.kind === "index")?.neutral ?? "bids";
      for (const side of SIDES) {
        await waitFor(
          `${ctx.sides[side].cluster} answering after ${what}`,
          async () => {
            await api.peek({ object: sideName(side, probe), timestamp: T, timeoutMs: 5000 });
            return true;
          },
          90_000,
          250,
        );
      }
    };
    for (const side of SIDES) {
      await api.createIndex({
        name: sideName(side, "bids"),
        cluster: CLUSTER_NAME[side],
        on: "auction_bids",
        key: [2],
      });
    }
    live.push({ neutral: "bids", kind: "index", arity: bidsArity, keyWidth: 1 });
    await answering("setup");
    for (const d of await phasesApplied(ctx)) differences.push(d);
    for (const d of diffControllerPaths(ctx, await api.status())) differences.push(d);
    say(
      `baseline runs [${sides.baseline.join(", ") || "no phase"}], candidate [${sides.candidate.join(", ")}]; ${opts.steps} steps`,
    );
    let r2 = false;
    for (let step = 1; step <= opts.steps; step++) {
      const kind = rng.weighted(WEIGHTS);
      const pick = () => live[Math.floor(rng.next() * live.length)];
      ran[kind]++;
      const at = `#${step} ${kind}`;
      switch (kind) {
        case "peek": {
          const o = pick();
          if (o === undefined) break;
          // Half the peeks plain (every row at T), half generated: those are often refused
          // (columns out of range, constraints of the wrong width), alike on both sides.
          const req =
            rng.next() < 0.5
              ? { object: o.neutral, timestamp: T }
              : sample(
                  peekRequest({ name: o.neutral, arity: o.arity }, o.keyWidth, fc.constant(T)),
                  step,
                );
          await both(
            `${at} ${o.neutral}: ${JSON.stringify(req, (_k, v) => (typeof v === "bigint" ? `${v}` : v)).slice(0, 200)}`,
            (side) => api.peek({ ...req, object: sideName(side, o.neutral), timeoutMs: 30_000 }),
          );
          break;
        }
        case "view": {
          const def = sample(viewDefinition(inputs), step);
          const neutral = `v${step}`;
          const ok = await both(`${at} create ${neutral}`, (side) =>
            api.createMaterializedView({
              name: sideName(side, neutral),
              cluster: CLUSTER_NAME[side],
              plan: def.plan,
            }),
          );
          if (!ok) break;
          const arity = (await api.listObjects()).objects.find(
            (x) => x.name === sideName("baseline", neutral),
          )?.arity;
          const indexed = await both(`${at} index ${neutral}`, (side) =>
            api.createIndex({
              name: sideName(side, `${neutral}_idx`),
              cluster: CLUSTER_NAME[side],
              on: sideName(side, neutral),
              key: def.indexKey,
            }),
          );
          if (arity !== undefined && indexed) {
            live.push({ neutral, kind: "view", arity, keyWidth: Math.max(1, def.indexKey.length) });
          }
          break;
        }
        case "source": {
          // A twin deterministic source per side (storage under the phase), its bids indexed.
          const neutral = `s${step}`;
          const created = await both(`${at} create ${neutral}`, (side) =>
            api.createSource({
              name: sideName(side, neutral),
              cluster: CLUSTER_NAME[side],
              loadGenerator: deterministicAuction(BigInt(opts.seed + step)),
            }),
          );
          if (!created) break;
          const indexed = await both(`${at} index ${neutral}_bids`, (side) =>
            api.createIndex({
              name: sideName(side, `${neutral}_bids_idx`),
              cluster: CLUSTER_NAME[side],
              on: sideName(side, `${neutral}_bids`),
              key: [2],
            }),
          );
          if (indexed) {
            live.push({
              neutral: `${neutral}_bids_idx`,
              kind: "index",
              arity: bidsArity,
              keyWidth: 1,
              drops: neutral,
            });
          }
          break;
        }
        case "index": {
          const views = live.filter((l) => l.kind === "view");
          const on =
            rng.next() < 0.5 || views.length === 0
              ? undefined
              : views[Math.floor(rng.next() * views.length)];
          const key = sample(fc.array(fc.integer({ min: 0, max: 6 }), { maxLength: 3 }), step);
          const neutral = `i${step}`;
          const ok = await both(
            `${at} ${neutral} on ${on?.neutral ?? "auction_bids"} key ${key}`,
            (side) =>
              api.createIndex({
                name: sideName(side, neutral),
                cluster: CLUSTER_NAME[side],
                on: on === undefined ? "auction_bids" : sideName(side, on.neutral),
                key,
              }),
          );
          if (ok) {
            live.push({
              neutral,
              kind: "index",
              arity: on?.arity ?? bidsArity,
              keyWidth: Math.max(1, key.length),
            });
          }
          break;
        }
        case "subscribe": {
          const views = live.filter((l) => l.kind === "view");
          const o = views[Math.floor(rng.next() * views.length)];
          if (o === undefined) break;
          const [a, b] = await Promise.all(
            SIDES.map((side) => subscribeOutcome(api, sideName(side, o.neutral))),
          );
          compared++;
          rowsCompared += a?.updates.length ?? 0;
          differences.push(
            ...diffStreams(`${at} ${o.neutral} from ${T}`, T, a as Stream, b as Stream).map(
              (d) => ({
                ...d,
                check: `consistency ${d.check}`,
              }),
            ),
          );
          break;
        }
        case "drop": {
          const o = pick();
          if (o === undefined || o.neutral === "bids") break;
          const target = o.drops ?? o.neutral;
          await both(`${at} ${target}`, (side) => api.dropObject(sideName(side, target), true));
          // Cascade: what depended on it went with it.
          const names = new Set((await api.listObjects()).objects.map((x) => x.name));
          for (let i = live.length - 1; i >= 0; i--) {
            if (!names.has(sideName("baseline", (live[i] as Live).neutral))) live.splice(i, 1);
          }
          break;
        }
        case "replica": {
          await both(`${at} ${r2 ? "drop" : "add"} r2`, (side) =>
            r2
              ? api.client.dropReplica(
                  codecs.dropReplicaRequest.toProto({ cluster: CLUSTER_NAME[side], name: "r2" }),
                )
              : api.createReplica(CLUSTER_NAME[side], "r2", 1),
          );
          r2 = !r2;
          await answering(at);
          break;
        }
        case "kill": {
          for (const r of session.records()) {
            if (r.clusterId !== ids.baseline && r.clusterId !== ids.candidate) continue;
            try {
              process.kill(r.pid, "SIGKILL");
            } catch {
              // already gone
            }
          }
          await sleep(200);
          await answering(at);
          break;
        }
      }
      if (step % 10 === 0 || step === opts.steps) {
        say(
          `${step}/${opts.steps} steps, ${compared} comparisons, ${differences.length} differences`,
        );
      }
    }
  } catch (e) {
    problems.push(`the run stopped: ${(e as Error).stack ?? String(e)}`);
  } finally {
    await session?.close();
  }
  problems.unshift(...differences.map(formatDifference));
  const summary = [
    `consistency --seed ${opts.seed} --steps ${opts.steps}: ${problems.length === 0 ? "CONSISTENT" : "INCONSISTENT"}`,
    `  baseline [${sides.baseline.join(", ") || "no phase"}] vs candidate [${sides.candidate.join(", ")}]${sides.skipped.length > 0 ? `; skipped: ${sides.skipped.map((s) => s.phase).join(", ")} (not built)` : ""}`,
    `  steps: ${STEP_KINDS.map((k) => `${k} ${ran[k]}`).join(", ")}`,
    `  ${compared} comparisons: ${refusedAlike} refused alike (same code), ${rowsCompared} rows and updates compared`,
    ...problems,
  ];
  return {
    seed: opts.seed,
    phases: { baseline: sides.baseline, candidate: sides.candidate },
    ran,
    compared,
    rowsCompared,
    refusedAlike,
    differences,
    problems,
    summary,
  };
}
