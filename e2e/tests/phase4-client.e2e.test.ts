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
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { liveCount, stopAll } from "../src/harness/processes.js";
import {
  describeRun,
  expectPhase3Run,
  expectSameObservations,
} from "../src/suites/phase3-replicas.expect.js";
import { type Phase3Observations, runPhase3Scenario } from "../src/suites/phase3-replicas.suite.js";

afterEach(stopAll);
afterAll(() => {
  expect(liveCount()).toBe(0);
});

const runs: Record<string, Phase3Observations> = {};

describe.each([
  ["off", false],
  ["on", true],
])("phase 4 client, flag %s", (name, client) => {
  it("survives kill -9 and SIGSTOP of a replica under peeks; one connection per replica when on", async () => {
    const o = await runPhase3Scenario({ replicas: true, client });
    runs[name] = o;
    console.log(describeRun(`phase 4 ${name}`, o));
    expectPhase3Run(o, true);
    expect(o.paths.find((p) => p.seam === "client")?.path).toBe(client ? "unified" : "legacy");
    expect([...o.connections.keys()].sort()).toEqual(["r1", "r2"]);
    for (const [replica, c] of o.connections) {
      if (client) expect({ replica, ...c }).toEqual({ replica, sockets: 1, metric: 1 });
      else {
        expect(c.sockets, replica).toBeGreaterThanOrEqual(2);
        expect(c.metric, replica).toBeGreaterThanOrEqual(2);
      }
    }
  }, 120_000);
});

describe("phase 4 client, off vs on", () => {
  it("observes the same results and the same metric names", () => {
    expectSameObservations(runs.off, runs.on);
  });
});
