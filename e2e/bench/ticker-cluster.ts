/**
 * The idle environment the scale benches build (`scale`, `environment-ab`): cluster `c` with one
 * replica `r1` (size 1) and a COUNTER source `ticker` ticking once a second; the benches put
 * their indexes on its subsource (`TICKER_SUBSOURCE`).
 */
import type { EnvironmentApi } from "../src/harness/environment.js";

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
