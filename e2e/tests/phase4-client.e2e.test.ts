/**
 * Phase 4 (client): the phase 3 failure scenario (`src/suites/phase3-replicas.suite.ts`: kill -9
 * of one of two replicas under peeks with 0 failed peeks, SIGSTOP detection, history bound,
 * environmentd kill -9 + restart with adoption) through environmentd with
 * `cluster-unification-replicas` on and `cluster-unification-client` off (two ports, a compute
 * and a storage stream per replica) and on (one port, one `ClusterService` stream per replica
 * that both controllers ride): the same checks pass, the observable results are the same, and on
 * the unified path each replica has exactly ONE TCP connection from the controllers (socket count
 * in /proc/net/tcp and the replica's `mz_cluster_controller_transport_connections` gauge), where
 * the two-port layout has at least two.
 */
import { expect } from "vitest";
import { describePhase3Runs } from "../src/suites/phase3-replicas.expect.js";

describePhase3Runs({
  title: "phase 4 client",
  runs: [
    ["off", { replicas: true, client: false }],
    ["on", { replicas: true, client: true }],
  ],
  test: "survives kill -9 and SIGSTOP of a replica under peeks; one connection per replica when on",
  timeoutMs: 120_000,
  check(o, flags) {
    const client = flags.client === true;
    expect(o.paths.find((p) => p.seam === "client")?.path).toBe(client ? "unified" : "legacy");
    expect([...o.connections.keys()].sort()).toEqual(["r1", "r2"]);
    for (const [replica, c] of o.connections) {
      if (client) expect({ replica, ...c }).toEqual({ replica, sockets: 1, metric: 1 });
      else {
        expect(c.sockets, replica).toBeGreaterThanOrEqual(2);
        expect(c.metric, replica).toBeGreaterThanOrEqual(2);
      }
    }
  },
});
