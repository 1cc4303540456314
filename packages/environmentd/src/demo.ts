/**
 * The demo of the main job: a cluster with two replicas, an auction load generator, indexes and
 * materialized views over it — created through the environment's API on first boot and found in
 * the catalog on every later boot — and a live status table (replica health, frontiers, lag,
 * flags, per online replica its hydration and arrangement sizes from its own introspection
 * relations, and every replica's hydration from the persisted `replica_hydration_times`, which
 * environmentd answers also while a replica is down) redrawn every second.
 *
 * ## Objects (created once; a rerun resumes them from the catalog)
 * - cluster `demo` with replicas `r1` and `r2` (1 worker each: the machine has 2 cores);
 * - source `auction` (AUCTION load generator, a tick per second, real time, keeping the newest
 *   `DEMO_MAX_AUCTIONS` auctions so the demo's data — and memory and disk — stay bounded),
 *   subsources `auction_organizations`, `…_users`, `…_accounts`, `…_auctions`, `…_bids`;
 * - index `bids_by_auction` on the bids (key: auction id);
 * - materialized view `winning_bids` = (auction id, highest bid, number of bids) per auction, indexed;
 * - materialized view `top_bidders` = (buyer, number of bids) per buyer, indexed.
 */
import type { Plan } from "@mzts/expr";
import type { Environment } from "./environment.js";

const CLUSTER = "demo";
/** Auctions the demo keeps (5 minutes of ticks); older ones are retracted with their bids. */
export const DEMO_MAX_AUCTIONS = 300n;

function subsourceId(objects: ReadonlyArray<{ id: string; name: string }>, name: string): string {
  const o = objects.find((x) => x.name === name);
  if (!o)
    throw new Error(
      `the demo needs ${name}, which is missing from the catalog; remove the data directory to start over`,
    );
  return o.id;
}

/** Creates the demo's objects unless they exist already. Returns true if it created them. */
export async function ensureDemo(env: Environment, log: (line: string) => void): Promise<boolean> {
  const clusters = await env.listClusters();
  if (clusters.clusters.some((c) => c.name === CLUSTER)) {
    log(`demo: found cluster ${CLUSTER} in the catalog (generation ${env.generation}); resuming`);
    return false;
  }
  log(`demo: creating cluster ${CLUSTER} with replicas r1 and r2 …`);
  await env.createCluster({ name: CLUSTER });
  await env.createReplica({ cluster: CLUSTER, name: "r1", size: 1 });
  await env.createReplica({ cluster: CLUSTER, name: "r2", size: 1 });
  log(
    `demo: creating source auction (AUCTION load generator, 1 tick/s, newest ${DEMO_MAX_AUCTIONS} auctions) …`,
  );
  const source = await env.createSource({
    name: "auction",
    cluster: CLUSTER,
    loadGenerator: {
      kind: "loadGenerator",
      generator: { kind: "auction", maxAuctions: DEMO_MAX_AUCTIONS },
      seed: 42n,
      tickIntervalMs: 1000,
    },
  });
  const bids = subsourceId(source.subsources, "auction_bids");
  log("demo: creating index bids_by_auction and views winning_bids, top_bidders …");
  await env.createIndex({
    name: "bids_by_auction",
    cluster: CLUSTER,
    on: "auction_bids",
    key: [2],
  });
  const bidsGet: Plan = { kind: "get", id: bids, arity: 5 };
  await env.createMaterializedView({
    name: "winning_bids",
    cluster: CLUSTER,
    plan: {
      kind: "reduce",
      input: bidsGet,
      groupKey: [2],
      aggregates: [{ func: "max", column: 3 }, { func: "count" }],
    },
  });
  await env.createIndex({
    name: "winning_bids_idx",
    cluster: CLUSTER,
    on: "winning_bids",
    key: [0],
  });
  await env.createMaterializedView({
    name: "top_bidders",
    cluster: CLUSTER,
    plan: { kind: "reduce", input: bidsGet, groupKey: [1], aggregates: [{ func: "count" }] },
  });
  await env.createIndex({ name: "top_bidders_idx", cluster: CLUSTER, on: "top_bidders", key: [0] });
  return true;
}

/** Exports (with a row) and those hydrated on every worker, from `(export, time_ns)` pairs. */
function hydrationCounts(rows: Iterable<readonly [unknown, unknown]>): {
  exports: number;
  hydrated: number;
} {
  const pending = new Set<string>();
  const exports = new Set<string>();
  for (const [exportId, timeNs] of rows) {
    exports.add(String(exportId));
    if (timeNs === null) pending.add(String(exportId));
  }
  return { exports: exports.size, hydrated: exports.size - pending.size };
}

/**
 * One replica's own view, from its introspection relations: exports hydrated on every worker,
 * and its arrangements' records and bytes (summed over exports and workers).
 */
async function replicaLog(env: Environment, cluster: string, replica: string): Promise<string> {
  const read = (relation: string) =>
    env.peek({ object: `mz_introspection.${relation}`, cluster, replica, timeoutMs: 1500 });
  try {
    const hydration = await read("hydration_times");
    const h = hydrationCounts(hydration.rows.map(([[exportId, , timeNs]]) => [exportId, timeNs]));
    const sizes = await read("arrangement_sizes");
    let records = 0n;
    let bytes = 0n;
    for (const [[, , r, , b], n] of sizes.rows) {
      records += BigInt(r as bigint) * BigInt(n);
      bytes += BigInt(b as bigint) * BigInt(n);
    }
    return (
      `hydrated ${h.hydrated}/${h.exports} exports, ` +
      `arrangements ${records} records, ${(Number(bytes) / 1048576).toFixed(1)} MiB`
    );
  } catch (e) {
    return `introspection not readable (${(e as Error).message.split(";")[0]})`;
  }
}

/**
 * Every replica's hydration from the persisted `replica_hydration_times` (environmentd answers it;
 * a replica without rows is down or rebuilding).
 */
async function persistedHydration(
  env: Environment,
  cluster: string,
  replicas: ReadonlyArray<{ id: string; name: string }>,
): Promise<string> {
  try {
    const { rows } = await env.peek({
      object: "mz_introspection.replica_hydration_times",
      cluster,
      timeoutMs: 1500,
    });
    return replicas
      .map((r) => {
        const h = hydrationCounts(
          rows
            .filter(([row]) => row[0] === r.id)
            .map(([[, exportId, , timeNs]]) => [exportId, timeNs]),
        );
        return `${r.name} ${h.exports === 0 ? "none (down or rebuilding)" : `${h.hydrated}/${h.exports}`}`;
      })
      .join(", ");
  } catch (e) {
    return `not readable (${(e as Error).message.split(";")[0]})`;
  }
}

function frontier(f: bigint | null): string {
  return f === null ? "[] (closed)" : new Date(Number(f)).toISOString().slice(11, 23);
}

/** One screen of status: replicas, collections, flags, and a sample of the winning bids. */
export async function renderStatus(env: Environment): Promise<string> {
  const { clusters } = await env.status({});
  const lines: string[] = [];
  lines.push(
    `mzts environmentd — generation ${env.generation} — ${new Date().toISOString()}   (Ctrl-C to stop)`,
  );
  for (const c of clusters) {
    lines.push("", `cluster ${c.name} (${c.id})`);
    lines.push("  replica  size  health      reason");
    for (const r of c.replicas)
      lines.push(
        `  ${r.name.padEnd(8)} ${String(r.size).padEnd(5)} ${r.health.padEnd(11)} ${r.reason}`,
      );
    lines.push("  collection                      write frontier     lag ms");
    for (const col of c.collections) {
      lines.push(
        `  ${col.name.padEnd(31)} ${frontier(col.writeFrontier).padEnd(18)} ${col.lagMs ?? "-"}`,
      );
    }
    const flags = c.flags.map(
      (f) =>
        `${f.key.replace("cluster-unification-", "")}=${f.inForce ? "on" : "off"}${f.flipping ? " (flipping)" : ""}`,
    );
    lines.push(`  flags: ${flags.join(", ")}`);
    if (c.introspectionIntervalMs > 0) {
      for (const r of c.replicas) {
        if (r.health === "online")
          lines.push(`  ${r.name}: ${await replicaLog(env, c.name, r.name)}`);
      }
      lines.push(
        `  hydration kept by environmentd: ${await persistedHydration(env, c.name, c.replicas)}`,
      );
    }
  }
  try {
    const peek = await env.peek({ object: "winning_bids_idx", timeoutMs: 2000 });
    const top = [...peek.rows]
      .sort((a, b) => (BigInt(a[0][0] as bigint) > BigInt(b[0][0] as bigint) ? -1 : 1))
      .slice(0, 5);
    lines.push(
      "",
      `winning_bids (latest auctions, as of ${frontier(peek.timestamp)}): auction | highest bid | bids`,
    );
    for (const [row] of top)
      lines.push(
        `  ${String(row[0]).padStart(7)} | ${String(row[1]).padStart(11)} | ${String(row[2]).padStart(4)}`,
      );
  } catch (e) {
    lines.push(
      "",
      `winning_bids: not readable yet (${(e as Error).message.split("\n")[0]}) — replicas are hydrating`,
    );
  }
  return lines.join("\n");
}
