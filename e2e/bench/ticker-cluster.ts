/**
 * The idle environment the scale benches build (`scale`, `environment-ab`): cluster `c` with one
 * replica `r1` (size 1) and a COUNTER source `ticker` ticking once a second; the benches put
 * their indexes on its subsource (`TICKER_SUBSOURCE`).
 */
import { rmSync } from "node:fs";
import {
  type EnvironmentApi,
  isOurClusterd,
  readReplicaRecords,
} from "../src/harness/environment.js";
import { stopAll } from "../src/harness/processes.js";

/** The relation the benches index. */
export const TICKER_SUBSOURCE = "ticker_counter";

export async function createTickerCluster(api: EnvironmentApi): Promise<void> {
  await api.createCluster("c");
  await api.createReplica("c", "r1", 1);
  await api.createSource({
    name: "ticker",
    cluster: "c",
    loadGenerator: {
      kind: "loadGenerator",
      generator: { kind: "counter" },
      seed: 1n,
      tickIntervalMs: 1000,
    },
  } as Parameters<typeof api.createSource>[0]);
}

/** One build's environment in an A/B bench over the ticker cluster (`environment-ab`, `replay-growth`). */
export interface TickerSide {
  readonly label: string;
  /** environmentd's data dir (the orchestrator's replica records are under it). */
  readonly dir: string;
  readonly api: EnvironmentApi;
}

/** The write frontier of each bench index (`i0`, `i1`, …) in the cluster's Status. */
export async function indexFrontiers(s: TickerSide): Promise<Map<string, bigint | null>> {
  const st = await s.api.status("c");
  const out = new Map<string, bigint | null>();
  for (const c of st.clusters[0]?.collections ?? [])
    if (/^i\d+$/.test(c.name)) out.set(c.name, c.writeFrontier);
  return out;
}

/** The replica's pid: the running one (`live`; throws when there is none), or the last recorded. */
export function replicaPid(s: TickerSide, live = true): number | undefined {
  const r = readReplicaRecords(s.dir).find((x) => !live || isOurClusterd(x.pid, s.dir));
  if (live && r === undefined) throw new Error(`${s.label}: no running replica recorded`);
  return r?.pid;
}

/** Stops every side: closes its API, stops the started processes, kills its replicas, removes its dir. */
export async function closeSides(sides: readonly TickerSide[]): Promise<void> {
  for (const s of sides) s.api.close();
  await stopAll();
  for (const s of sides) {
    for (const r of readReplicaRecords(s.dir)) {
      try {
        process.kill(r.pid, "SIGKILL");
      } catch {
        // gone
      }
    }
    rmSync(s.dir, { recursive: true, force: true });
  }
}
